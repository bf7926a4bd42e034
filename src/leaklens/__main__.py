from leaklens.cli import main

main()
