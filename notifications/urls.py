from django.urls import path

from notifications import views

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
]
