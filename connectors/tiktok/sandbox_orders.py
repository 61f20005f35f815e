"""Orders, returns and cancellations for the TikTok sandbox, in the shapes of TikTok's description.

Routes (specs/tiktok/order.json, return_refund.json; every served body is validated against them
when the sandbox has `spec=`):
- POST /order/202309/orders/search          query: page_size (1-100), page_token, sort_field, sort_order
                                             body: update_time_ge/lt, create_time_ge/lt, order_status
- GET  /order/202309/orders?ids=a,b          at most 50 ids
- POST /return_refund/202309/returns/search        page_size 10-50; body: update/create_time_ge/lt, order_ids
- POST /return_refund/202309/cancellations/search  page_size 1-50;  body: the same

The data (`sandbox_order_data.py`) makes orders the way TikTok reports them: one line item per unit (there is no
quantity field), bundles as a line with `combined_listing_skus`, money as strings, and a payment
block whose figures follow the formulas order.json prints (`sub_total = original_total_product_price
- seller_discount - platform_discount`, `shipping_fee = original_shipping_fee -
shipping_fee_seller_discount - shipping_fee_platform_discount`, `total_amount = sub_total +
shipping_fee + tax`).
"""

import base64
import copy
import json
from collections import defaultdict

ORDERS_SEARCH = "/order/202309/orders/search"
ORDER_DETAIL = "/order/202309/orders"
RETURNS_SEARCH = "/return_refund/202309/returns/search"
CANCELLATIONS_SEARCH = "/return_refund/202309/cancellations/search"
# Keys GET /order/202309/orders has and the search does not (order.json).
DETAIL_ONLY = (
    "channel_entity_national_registry_id",
    "payment_auth_code",
    "payment_card_type",
    "payment_method_code",
)
# Request body keys each search declares (order.json, return_refund.json); others are refused.
SEARCH_FILTERS = {
    ORDERS_SEARCH: {
        "buyer_user_id",
        "create_time_ge",
        "create_time_lt",
        "is_buyer_request_cancel",
        "order_status",
        "shipping_type",
        "update_time_ge",
        "update_time_lt",
        "warehouse_ids",
    },
    RETURNS_SEARCH: {
        "arbitration_status",
        "buyer_user_ids",
        "create_time_ge",
        "create_time_lt",
        "locale",
        "order_ids",
        "return_ids",
        "return_status",
        "return_types",
        "seller_proposed_return_type",
        "update_time_ge",
        "update_time_lt",
    },
    CANCELLATIONS_SEARCH: {
        "buyer_user_ids",
        "cancel_ids",
        "cancel_status",
        "cancel_types",
        "create_time_ge",
        "create_time_lt",
        "locale",
        "order_ids",
        "update_time_ge",
        "update_time_lt",
    },
}


class BadRequest(ValueError):
    """A request the real API would refuse as invalid parameters; the sandbox answers 400."""


class OrderBook:
    """What one sandbox serves on the order and return_refund routes, per shop cipher."""

    def __init__(self):
        self.orders: dict[str, dict[str, dict]] = defaultdict(dict)
        self.returns: dict[str, dict[str, dict]] = defaultdict(dict)
        self.cancellations: dict[str, dict[str, dict]] = defaultdict(dict)

    def add_order(self, cipher: str, order: dict) -> None:
        self.orders[cipher][order["id"]] = copy.deepcopy(order)

    def add_return(self, cipher: str, return_order: dict) -> None:
        self.returns[cipher][return_order["return_id"]] = copy.deepcopy(return_order)

    def add_cancellation(self, cipher: str, cancellation: dict) -> None:
        self.cancellations[cipher][cancellation["cancel_id"]] = copy.deepcopy(cancellation)

    def routes(self, method: str, path: str) -> bool:
        return (method, path) in {
            ("POST", ORDERS_SEARCH),
            ("GET", ORDER_DETAIL),
            ("POST", RETURNS_SEARCH),
            ("POST", CANCELLATIONS_SEARCH),
        }

    def handle(self, cipher: str, method: str, path: str, params: dict[str, str], body: bytes) -> dict:
        if (method, path) == ("GET", ORDER_DETAIL):
            return self._detail(cipher, params.get("ids", ""))
        filters = _body(body, SEARCH_FILTERS[path])
        if path == ORDERS_SEARCH:
            found = _filtered(self.orders[cipher].values(), filters, "order_status", "status")
            items, token = _page(_sorted(found, params, "DESC"), params, 1, 100, 20)
            items = [{k: v for k, v in o.items() if k not in DETAIL_ONLY} for o in items]
            return {"next_page_token": token, "orders": items, "total_count": len(found)}
        if path == RETURNS_SEARCH:
            found = _by_orders(_filtered(self.returns[cipher].values(), filters), filters)
            items, token = _page(_sorted(found, params, "ASC"), params, 10, 50, 10)
            return {"next_page_token": token, "return_orders": items, "total_count": len(found)}
        found = _by_orders(_filtered(self.cancellations[cipher].values(), filters), filters)
        items, token = _page(_sorted(found, params, "ASC"), params, 1, 50, 10)
        return {"cancellations": items, "next_page_token": token, "total_count": len(found)}

    def _detail(self, cipher: str, ids: str) -> dict:
        wanted = [i for i in ids.split(",") if i]
        if not 1 <= len(wanted) <= 50:
            raise BadRequest(f"ids must list 1 to 50 order ids, got {len(wanted)}")
        return {"orders": [copy.deepcopy(self.orders[cipher][i]) for i in wanted if i in self.orders[cipher]]}


def _body(body: bytes, declared: set[str]) -> dict:
    try:
        filters = json.loads(body or b"{}")
    except ValueError as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from exc
    if not isinstance(filters, dict):
        raise BadRequest("request body must be a JSON object")
    if unknown := sorted(set(filters) - declared):
        raise BadRequest(f"unknown request fields: {', '.join(unknown)}")
    for key in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt"):
        if key in filters and (isinstance(filters[key], bool) or not isinstance(filters[key], int)):
            raise BadRequest(f"{key} must be a unix time in seconds")
    return filters


def _filtered(items, filters: dict, status_filter: str = "", status_key: str = "") -> list[dict]:
    chosen = []
    for item in items:
        ok = all(
            item[field] >= filters.get(f"{field}_ge", 0) and item[field] < filters.get(f"{field}_lt", 2**63)
            for field in ("update_time", "create_time")
        )
        if ok and status_filter in filters and item.get(status_key) != filters[status_filter]:
            ok = False
        if ok:
            chosen.append(item)
    return chosen


def _by_orders(items: list[dict], filters: dict) -> list[dict]:
    order_ids = filters.get("order_ids")
    return [i for i in items if i["order_id"] in order_ids] if order_ids else items


def _sorted(items: list[dict], params: dict[str, str], default_order: str) -> list[dict]:
    field = params.get("sort_field", "create_time")
    if field not in ("create_time", "update_time"):
        raise BadRequest(f"sort_field {field!r} is not create_time or update_time")
    descending = params.get("sort_order", default_order).upper() == "DESC"
    return sorted(items, key=lambda item: (item[field], str(item.get("id", ""))), reverse=descending)


def _page(
    items: list[dict], params: dict[str, str], low: int, high: int, default: int
) -> tuple[list[dict], str]:
    size = params.get("page_size", str(default))
    if not size.isdigit() or not low <= int(size) <= high:
        raise BadRequest(f"page_size must be between {low} and {high}")
    start = _offset(params.get("page_token", ""))
    end = start + int(size)
    token = base64.urlsafe_b64encode(f"orders:{end}".encode()).decode() if end < len(items) else ""
    return copy.deepcopy(items[start:end]), token


def _offset(token: str) -> int:
    if not token:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
    except ValueError:
        prefix, offset = "", ""
    if prefix != "orders" or not offset.isdigit():
        raise BadRequest(f"page_token {token!r} is invalid")
    return int(offset)
