from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.my_appointments, name="list"),
    path("export.csv", views.export, name="export"),
    path("consignment/<int:pk>/book/", views.book_week, name="book"),
    path("consignment/<int:pk>/book/confirm/", views.book_confirm, name="book-confirm"),
    path("consignment/<int:pk>/waitlist/", views.waitlist_join, name="waitlist-join"),
    path("<int:pk>/", views.appointment_detail, name="detail"),
    path("<int:pk>/calendar.ics", views.appointment_ics, name="ics"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("waitlist/<int:pk>/accept/", views.waitlist_accept, name="waitlist-accept"),
    path("waitlist/<int:pk>/cancel/", views.waitlist_cancel, name="waitlist-cancel"),
    path("feeds/", views.feed_create, name="feed-create"),
    path("feeds/agent/", views.agent_feed_create, name="agent-feed-create"),
    path("feeds/<int:pk>/revoke/", views.feed_revoke, name="feed-revoke"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("agenda/", views.agenda, name="agenda"),
    path("agenda/<int:pk>/<str:action>/", views.agent_action, name="agent-action"),
    path("closures/", views.closures, name="closures"),
    path("calendar/", views.calendar_settings, name="calendar"),
    path("waitlist/", views.waitlist_day, name="waitlist-day"),
]
