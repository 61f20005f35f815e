"""Cursor pagination: a page's position is the last row it showed, so rows that arrive while a client
pages through never shift or repeat what it reads. Ordered by id, newest first: ids are unique and
only grow, so the order is stable (a timestamp can tie)."""

from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
