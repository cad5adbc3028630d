"""Articles written for the fetcher's tests (news-shaped; not taken from any publication)."""

from __future__ import annotations

from typing import Final

DRONES: Final = (
    "Drones cross the border near the river town of Velka",
    [
        "Air defence units tracked three unmanned aircraft for twelve minutes on Tuesday before "
        "they turned back towards the border, the defence ministry said in a statement.",
        "According to the ministry, the aircraft entered national airspace shortly after dawn and "
        "were followed by radar stations along the river valley. Two fighter jets were scrambled "
        "from an air base in the north but did not open fire, because the drones were flying "
        "over villages.",
        "The foreign ministry summoned the neighbouring country's ambassador and asked for an "
        "explanation. A spokesman said it was the third incursion this month and that allies in "
        "the alliance had been informed through the usual channels.",
        "Residents of Velka told local radio that they heard engines overhead before sunrise. "
        "Schools stayed open and trains ran normally, the regional governor said.",
    ],
)

COCOA: Final = (
    "Cocoa futures slide for a fourth session as harvest outlook improves",
    [
        "Cocoa futures fell for a fourth straight session on Wednesday, as traders bet that "
        "better weather in West Africa would lift the coming harvest and ease a shortage that "
        "pushed prices to records last year.",
        "The benchmark contract in New York dropped 3.2 percent to 6,140 dollars a tonne by "
        "midday, its lowest level since August. London futures followed with a fall of 2.8 "
        "percent.",
        "Exporters in the main growing regions reported steady arrivals of beans at the ports, "
        "and analysts at two trading houses raised their estimates for the mid-crop. Chocolate "
        "makers have been hedging less while prices remain volatile.",
        "Grinding data due next week will show whether demand has recovered from the slump that "
        "followed the price spike.",
    ],
)

TALKS: Final = (
    "Negotiators meet in Geneva for a second round of ceasefire talks",
    [
        "Delegations from both governments met in Geneva on Thursday for a second round of talks "
        "on a ceasefire along the front line, mediators said, after a first meeting last month "
        "ended without an agreement.",
        "The talks are expected to focus on prisoner exchanges and on a monitoring mission that "
        "would verify any pause in the fighting. Both sides said they were ready to discuss "
        "humanitarian corridors for civilians in the east.",
        "Diplomats cautioned that fighting continued in several districts overnight and that any "
        "deal would need the backing of military commanders on the ground. The mediators plan "
        "to publish a short statement when the round closes on Friday.",
    ],
)

CONSENT_PAGE: Final = (
    b'<!doctype html><html lang="en"><head><title>Before you continue</title></head><body>'
    b'<div class="consent"><h1>We value your privacy</h1><p>We and our partners use cookies and '
    b"similar technologies to store and access information on your device. With your consent we "
    b"use them for personalised ads and content.</p><p>You can change your privacy settings at any "
    b"time.</p><button>Accept all</button><button>Reject all</button></div></body></html>"
)
