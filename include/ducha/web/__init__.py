"""The officers' web pages: published files, case search, 挂图作战, sign-off."""
