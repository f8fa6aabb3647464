"""The citizen's web pages: catalogue, app pages, sign-in and "my consents"."""
