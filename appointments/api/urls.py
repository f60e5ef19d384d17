from django.urls import path

from appointments.api import views

urlpatterns = [
    path(
        "appointments/availability/",
        views.AvailabilityView.as_view(),
        name="appointments-availability",
    ),
    path("appointments/waitlist/", views.WaitlistJoinView.as_view(), name="waitlist"),
    path(
        "appointments/waitlist/<int:pk>/", views.WaitlistDetailView.as_view(), name="waitlist-entry"
    ),
    path(
        "appointments/waitlist/<int:pk>/accept/",
        views.WaitlistAcceptView.as_view(),
        name="waitlist-accept",
    ),
    path(
        "appointments/waitlist/<int:pk>/cancel/",
        views.WaitlistCancelView.as_view(),
        name="waitlist-cancel",
    ),
    path("appointments/", views.AppointmentListView.as_view(), name="appointments"),
    path("appointments/<int:pk>/", views.AppointmentDetailView.as_view(), name="appointment"),
    path(
        "appointments/<int:pk>/reschedule/",
        views.RescheduleView.as_view(),
        name="appointment-reschedule",
    ),
    path("appointments/<int:pk>/cancel/", views.CancelView.as_view(), name="appointment-cancel"),
    path(
        "appointments/<int:pk>/calendar.ics", views.CalendarView.as_view(), name="appointment-ics"
    ),
    path(
        "appointments/<int:pk>/check-in/", views.CheckInView.as_view(), name="appointment-check-in"
    ),
    path(
        "appointments/<int:pk>/complete/", views.CompleteView.as_view(), name="appointment-complete"
    ),
    path("appointments/<int:pk>/no-show/", views.NoShowView.as_view(), name="appointment-no-show"),
    path("appointments/<int:pk>/missed/", views.MissedView.as_view(), name="appointment-missed"),
]
