"""Pagination of every list endpoint: 50 rows a page by default, ``?page_size=`` up to 200."""

from rest_framework.pagination import PageNumberPagination


class RecordPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
