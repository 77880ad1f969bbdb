"""An Atom feed of a workspace's alerts, for feed readers, behind a secret URL.

Built with ElementTree, which escapes every text and attribute: titles and posts are
third-party text. Entries are the alerts as sent (as-it-happens events and digests).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from goodwill.alerts.messages import render_text
from goodwill.store.alerts import AlertStore
from goodwill.store.tables import utcnow

__all__ = ["atom_feed"]

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def atom_feed(store: AlertStore, workspace_id: int, self_url: str, *, title: str) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    events = store.events(workspace_id, limit=FEED_SIZE)
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"Goodwill alerts: {title}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:goodwill:alerts:{workspace_id}"
    updated = events[0][0].created_at if events else utcnow()
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "Goodwill"
    for event, rule in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:goodwill:alert:{event.id}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = event.title
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(event.created_at)
        ET.SubElement(entry, f"{{{ATOM}}}category", term=event.kind, label=rule)
        url = (event.payload.get("post") or {}).get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            ET.SubElement(entry, f"{{{ATOM}}}link", href=url)
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = render_text(event)
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out
