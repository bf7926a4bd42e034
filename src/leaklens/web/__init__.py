"""The leaklens web workbench (`leaklens serve`)."""
