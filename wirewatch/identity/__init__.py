"""Who is signed in to the dashboard, and what they may do.

Pure pieces (no Kafka, no HTTP): password hashing, the directory of accounts
read from the users topic, signed session tokens with their CSRF token, the
sign-in throttle, the trusted-proxy check and the role rules; and
:mod:`~wirewatch.identity.accounts`, which reads and writes the users topic.
The dashboard's middleware and the ``wirewatch users`` commands are built on them.
"""
