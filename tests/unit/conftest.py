import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# collections/ansible_collections/hastack/dns_dhcp links back to the checkout
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO))
