"""Signals other apps listen to (notifications, webhooks); sent inside the writing transaction."""

from django.dispatch import Signal

# A document (or a new version) was added to a dossier; kwargs: document=<Document>.
document_added = Signal()
# A consignment's dossier now holds every required type; kwargs: consignment=<Consignment>.
dossier_completed = Signal()
