"""The Telegram front end: the python-telegram-bot `Application`, its patient handlers, the
rendering of engine prompts as messages with inline keyboards, paced delivery, the per-chat
update processor and the webhook server. The only package of the project that imports
`telegram`.
"""
