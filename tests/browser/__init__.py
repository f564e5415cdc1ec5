"""Browser tests: JupyterLab driven by Debian chromium through Playwright."""
