from django.urls import path

from notifications import views
from notifications.webhooks import views as webhooks

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="read"),
    path("read-all/", views.mark_all_read, name="read-all"),
    path("unread-count/", views.unread, name="unread-count"),
    path("preferences/", views.preferences, name="preferences"),
    path("phone/", views.phone_start, name="phone"),
    path("phone/confirm/", views.phone_confirm, name="phone-confirm"),
    path("phone/remove/", views.phone_remove, name="phone-remove"),
    path("twilio/status/", views.twilio_status, name="twilio-status"),
    path("webhooks/", webhooks.endpoints, name="webhooks"),
    path("webhooks/<int:pk>/", webhooks.endpoint_detail, name="webhook"),
    path("webhooks/<int:pk>/rotate/", webhooks.rotate, name="webhook-rotate"),
    path("webhooks/<int:pk>/delete/", webhooks.delete, name="webhook-delete"),
    path("webhooks/<int:pk>/replay-dead/", webhooks.replay_dead, name="webhook-replay-dead"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/",
        webhooks.delivery_detail,
        name="webhook-delivery",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/replay/",
        webhooks.replay,
        name="webhook-delivery-replay",
    ),
]
