"""``makemessages`` that also extracts ``_lazy("…")``: the project imports ``gettext_lazy as _lazy`` beside
``gettext as _`` (docs/operations.md, "Languages")."""

from django.core.management.commands.makemessages import Command as MakeMessagesCommand


class Command(MakeMessagesCommand):
    xgettext_options = [*MakeMessagesCommand.xgettext_options, "--keyword=_lazy"]
