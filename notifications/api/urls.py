from django.urls import path

from notifications.api import views

urlpatterns = [
    path("events/", views.EventFeed.as_view(), name="feed-events"),
    path("webhooks/", views.EndpointList.as_view(), name="webhooks"),
    path("webhooks/event-types/", views.EventTypeList.as_view(), name="webhook-event-types"),
    path("webhooks/<int:pk>/", views.EndpointDetail.as_view(), name="webhook"),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        views.EndpointRotateSecret.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:pk>/replay-dead/",
        views.EndpointReplayDead.as_view(),
        name="webhook-replay-dead",
    ),
    path(
        "webhooks/<int:pk>/deliveries/",
        views.DeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/",
        views.DeliveryDetail.as_view(),
        name="webhook-delivery",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/replay/",
        views.DeliveryReplay.as_view(),
        name="webhook-delivery-replay",
    ),
]
