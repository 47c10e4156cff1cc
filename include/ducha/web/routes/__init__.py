"""The app's pages, one router per page (app.py includes them all)."""
