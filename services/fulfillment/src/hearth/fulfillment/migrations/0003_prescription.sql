-- Schedule III: an order remembers when its prescription (the approval) was issued, since no box may be filled
-- more than six months after it; and why a resupply was refused (fill window or refill count), while the order is
-- flagged `resupply_refused`.  Orders from before this migration count from their creation.
ALTER TABLE orders
    ADD COLUMN issued_at timestamptz,
    ADD COLUMN resupply_refusal text;
UPDATE orders SET issued_at = created_at WHERE issued_at IS NULL;
ALTER TABLE orders ALTER COLUMN issued_at SET NOT NULL;
