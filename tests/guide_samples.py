"""Sample guides shared by the parser, write-back and property tests.

Two complete guides follow every section of the phase and implementation templates (so the tests
see the code fences, numbered test plans and rollback steps that must *not* become tasks), plus
small builders for focused cases.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "guides"
URL = "https://github.com/acme/shop/issues/{}"


def link(n: int, url: str | None = None) -> str:
    """The link guidesync writes at the end of a task line."""
    return f"([#{n}]({url or URL.format(n)}))"


#: The phase template, every section filled in. Tasks: the 5 top-level items of the checklist.
FULL_PHASE = """\
# Phase 2: Payments - Detailed Implementation Guide

## Overview

Take card payments through the gateway and record them against orders.
Everything later (refunds, invoices) builds on the `payments` table.

## Deliverables Checklist

- [ ] `services/payments/gateway.py` client with retries
- [x] Migration `0007_payments.sql` creating the `payments` table
- [ ] Webhook endpoint `POST /webhooks/gateway` ([docs](https://example.com/webhooks))
  - [x] signature check
  - [ ] idempotency keys
    - stored for 24 h
- Payment status shown on the order page 💳
- [ ] Runbook `docs/runbooks/payments.md`

## Prerequisites

- Phase 1 finished
- [ ] Gateway sandbox account (a box outside the checklist: not a task)

## Step-by-Step Implementation

### 1. Gateway client

**File**: `services/payments/gateway.py`

```python
# - [ ] a checklist inside code is not a task
def charge(amount_cents: int) -> str:
    ...
```

**Key Points:**
- Retries only on 5xx
- Never log the card number

### 2. Webhook

**File**: `services/payments/webhooks.py`

```python
def handle(event): ...
```

## API Specifications

### Gateway webhook
```
POST /webhooks/gateway
Headers:
  - X-Signature: hmac
- [ ] still inside the fence
```

## Database Schema

```sql
-- - [ ] not a task either
CREATE TABLE payments (id bigserial primary key);
```

## Testing Checklist

### Unit Tests

1. **Signature check**
   ```python
   def test_signature(): ...
   ```

### Integration Tests

1. **Happy path**
   - Step 1
   - Step 2
   - Expected outcome

### Manual Testing Script

1. **Pay for an order**
   ```
   1. [ ] Open the order
   2. [ ] Pay
   ```

## Performance Considerations

- Gateway calls time out after 10 s

## Security Considerations

- Webhook signatures are verified

## Common Issues & Solutions

### Issue 1: Duplicate webhooks
**Symptom**: two payments for one order
**Cause**: the gateway retries
**Solution**: idempotency keys

## Configuration

### Environment Variables
```bash
GATEWAY_KEY=sk_test_123
```

## Monitoring & Logging

### Key Metrics
- payment_latency: time to confirm

## Next Phase Dependencies

Refunds need:
- [ ] the `payments` table

## Rollback Plan

If this phase needs to be rolled back:
1. [ ] Disable the `payments` feature flag
2. Run the down migration

---

## Implementation Notes

<details>
- [ ] an HTML block is not a task
</details>
"""

FULL_PHASE_TASKS = [
    # (line, text, checked, has_box)
    (9, "`services/payments/gateway.py` client with retries", False, True),
    (10, "Migration `0007_payments.sql` creating the `payments` table", True, True),
    (11, "Webhook endpoint `POST /webhooks/gateway` ([docs](https://example.com/webhooks))", False, True),
    (15, "Payment status shown on the order page 💳", False, False),
    (16, "Runbook `docs/runbooks/payments.md`", False, True),
]

#: The implementation template, every section filled in: 3 milestones, 7 tasks.
FULL_IMPLEMENTATION = """\
# Implementation Guide: Search Suggestions

## Overview

Suggest products while the customer types in the search box.

## Background & Context

### System Context
The search box calls `GET /search`; suggestions come from a new index.

- [ ] a checklist in the background section is not a task

### Technical Background
Prefix queries on an edge n-gram index.

### Why This Approach?
It reuses the search cluster.

## Architecture & Design Decisions

### High-Level Architecture
```
browser -> /suggest -> suggest index
- [ ] fenced
```

### Key Design Decisions
- **Decision 1**: a separate index, so the main one is not re-indexed
- **Decision 2**: debounce in the browser

### Alternative Approaches Considered
A database `LIKE` query: too slow.

## Implementation Milestones

### Milestone 1: Suggest index
**Goal**: An edge n-gram index, filled nightly.

**Changes Required**:
- [ ] Index mapping in `search/suggest.json`
- [x] Nightly job `jobs/fill_suggest.py`

**Implementation Details**:
Copy the product names with their popularity.
- [ ] a list under the details label is not a task

**Verification**:
`curl /suggest?q=sh` lists shoes.

**Potential Issues**:
Index size grows with the catalogue.

---

### Milestone 2: Suggest endpoint
**Goal**: `GET /suggest?q=` answering in under 30 ms.

**Changes Required**:
1. [ ] Endpoint in `api/suggest.py`
2. [ ] Rate limit of 20 requests per second
   - [x] per IP
3. Cache headers

**Implementation Details**:
Use the existing search client.

**Verification**:
Load test with 200 rps.

**Potential Issues**:
Cache poisoning.

---

### Milestone 3: Search box
**Goal**: Show the suggestions under the search box.

**Changes Required**:
* [X] Dropdown component
* [ ] Keyboard navigation ⌨️

**Verification**:
Manual test in three browsers.

---

## Testing Strategy

### Unit Tests
The endpoint's query builder.

### Integration Tests
The nightly job against a test cluster.

### Manual Testing
1. [ ] Type "sh" and see shoes

## Deployment Considerations

### Prerequisites
- [ ] The index exists

### Rollout Strategy
Feature flag `search_suggest`.

### Rollback Plan
Turn the flag off.

## Edge Cases & Error Handling

- **Edge Case 1**: empty query: no request

## Performance Considerations

Debounce keeps the load low.

## Security Considerations

Queries are escaped.

## Future Enhancements

Personalised suggestions.

## Additional Resources

- [Edge n-grams](https://example.com/ngram)
"""

FULL_IMPLEMENTATION_TASKS = {
    # milestone number -> [(line, text, checked, has_box)]
    "1": [(40, "Index mapping in `search/suggest.json`", False, True), (41, "Nightly job `jobs/fill_suggest.py`", True, True)],
    "2": [
        (59, "Endpoint in `api/suggest.py`", False, True),
        (60, "Rate limit of 20 requests per second", False, True),
        (62, "Cache headers", False, False),
    ],
    "3": [(79, "Dropdown component", True, True), (80, "Keyboard navigation ⌨️", False, True)],
}


def phase(items: str, *, title: str = "Phase 1: Foundation - Detailed Implementation Guide", heading: str = "Deliverables Checklist", before: str = "", after: str = "") -> str:
    """A small phase guide: ``items`` is the body of the checklist section (lines 4 onwards)."""
    return f"{before}# {title}\n\n## {heading}\n\n{items}{after}"


def implementation(*milestones: str, feature: str = "Checkout", heading: str = "Implementation Milestones") -> str:
    """A small implementation guide; each milestone is the full text of one ``###`` section."""
    return f"# Implementation Guide: {feature}\n\n## {heading}\n\n" + "\n".join(milestones)


def milestone(number: str | int, name: str, items: str, *, goal: str = "Do it.", verification: str = "It works.", label: str = "Changes Required") -> str:
    return (
        f"### Milestone {number}: {name}\n"
        f"**Goal**: {goal}\n\n"
        f"**{label}**:\n{items}\n"
        f"**Verification**:\n{verification}\n\n---\n\n"
    )
