"""Invitations that reach people: the mail (message.py), its accept link (links.py), sending it
through Airflow's SMTP provider (mailer.py), the invite task (send.py) and the accept page
(accept.py). The lifecycle in the store is oncall_sync.store.invitations."""
