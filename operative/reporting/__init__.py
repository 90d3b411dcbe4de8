"""What the register tells its readers: the progress report, exports, the calendar file."""
