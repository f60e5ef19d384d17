"""GUN pages, under /gun/."""

from django.urls import path

from gun import mandate_views, views

app_name = "gun"

urlpatterns = [
    path("controls/", views.review_queue, name="review-queue"),
    path("controls/<uuid:pk>/", views.review_detail, name="review-detail"),
    path("controls/<uuid:pk>/decide/", views.review_decide, name="review-decide"),
    path("controls/<uuid:pk>/release/", views.review_release, name="review-release"),
    path("declarations/", views.declaration_list, name="declarations"),
    path("declarations/<uuid:pk>/", views.declaration_detail, name="declaration"),
    path(
        "declarations/<uuid:pk>/validate/", views.declaration_validate, name="declaration-validate"
    ),
    path("declarations/<uuid:pk>/rectify/", views.declaration_rectify, name="declaration-rectify"),
    path("declarations/<uuid:pk>/cancel/", views.declaration_cancel, name="declaration-cancel"),
    path("documents/", views.partner_documents, name="partner-documents"),
    path("links/", views.partner_links, name="partner-links"),
    path("mandates/", mandate_views.mandates, name="mandates"),
    path("mandates/<uuid:pk>/revoke/", mandate_views.mandate_revoke, name="mandate-revoke"),
]
