"""Notification: transports (SMTP, console) behind one interface, and digest rendering."""
