"""The built-in dashboard page: a Jinja2 template and its own script and styles."""
