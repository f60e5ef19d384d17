from django.urls import path

from tracking.api import views

urlpatterns = [
    path("tracking/events/", views.PartnerEventView.as_view(), name="tracking-partner-events"),
    path("consignments/", views.ConsignmentListView.as_view(), name="tracking-consignments"),
    path(
        "consignments/<int:pk>/",
        views.ConsignmentDetailView.as_view(),
        name="tracking-consignment",
    ),
]
