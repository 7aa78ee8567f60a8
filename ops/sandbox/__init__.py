"""The sandbox: the staging shape on one machine (`inv sandbox.*`)."""
