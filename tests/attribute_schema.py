"""The demo audience's customer attributes (content/audience.yaml), for tests of the preferences
package that run without loading content."""

from preferences.attributes import Attribute

ATTRIBUTES = {
    "region": Attribute("region", "choice", ("north", "south", "east", "west")),
    "branch": Attribute("branch", "text"),
    "lifecycle": Attribute("lifecycle", "choice", ("subscriber", "first-buyer", "customer", "advocate")),
    "last_order": Attribute("last_order", "date"),
    "orders_12m": Attribute("orders_12m", "number", min=0),
    "purchasing_power": Attribute("purchasing_power", "number", min=1, max=5),
    "loyalty_member": Attribute("loyalty_member", "flag"),
}
