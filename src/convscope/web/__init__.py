"""The local web page (``convscope serve``) and its static files."""
