from django.urls import path

from gun.api import views

urlpatterns = [
    path(
        "partner-documents/", views.PartnerDocumentPublish.as_view(), name="gun-partner-doc-publish"
    ),
    path(
        "partner-documents/<str:code>/<path:reference>/",
        views.PartnerDocumentDetail.as_view(),
        name="gun-partner-doc-detail",
    ),
    path("declarations/", views.DeclarationList.as_view(), name="gun-declarations"),
    path("declarations/<uuid:pk>/", views.DeclarationDetail.as_view(), name="gun-declaration"),
    path(
        "declarations/<uuid:pk>/validate/",
        views.DeclarationValidate.as_view(),
        name="gun-declaration-validate",
    ),
    path(
        "declarations/<uuid:pk>/rectify/",
        views.DeclarationRectify.as_view(),
        name="gun-declaration-rectify",
    ),
    path(
        "declarations/<uuid:pk>/cancel/",
        views.DeclarationCancel.as_view(),
        name="gun-declaration-cancel",
    ),
    path(
        "declarations/<uuid:pk>/release/",
        views.DeclarationRelease.as_view(),
        name="gun-declaration-release",
    ),
    path("mandates/", views.MandateList.as_view(), name="gun-mandates"),
    path("mandates/<uuid:pk>/", views.MandateDetail.as_view(), name="gun-mandate"),
    path("mandates/<uuid:pk>/revoke/", views.MandateRevoke.as_view(), name="gun-mandate-revoke"),
]
