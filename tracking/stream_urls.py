from django.urls import path

from tracking import streams

app_name = "tracking_streams"

urlpatterns = [
    path("consignments/<int:pk>/", streams.consignment_stream, name="consignment"),
    path("company/", streams.company_stream, name="company"),
]
