-- What a resolved return pays out. A refund is the decision to give money back
-- (granted) kept apart from the money moving (sent, succeeded, failed).
CREATE TABLE refunds (
    shop_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    return_id   TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    tax         BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    -- original_payment_method, bank_account, e_wallet
    destination TEXT NOT NULL,
    -- pending, sent, succeeded, failed
    status      TEXT NOT NULL,
    reference   TEXT,
    failure     TEXT,
    due_by      BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id)
);
CREATE UNIQUE INDEX refunds_return ON refunds (shop_id, return_id);
CREATE INDEX refunds_status ON refunds (shop_id, status, id);

-- Store credit: one account per customer and currency; the balance is changed
-- only by a guarded UPDATE (never below zero) in the transaction that writes
-- its ledger entry.
CREATE TABLE credit_accounts (
    shop_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    currency    TEXT NOT NULL,
    -- The code a shop's checkout redeems the credit with.
    code        TEXT NOT NULL,
    balance     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id)
);
CREATE UNIQUE INDEX credit_accounts_customer ON credit_accounts (shop_id, customer_id, currency);
CREATE UNIQUE INDEX credit_accounts_code ON credit_accounts (shop_id, code);

CREATE TABLE credit_entries (
    shop_id       TEXT NOT NULL,
    id            TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    -- issue (positive) or redeem (negative)
    kind          TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    -- The return that issued it, or the shop's reference for a redemption.
    reference     TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, account_id) REFERENCES credit_accounts (shop_id, id)
);
CREATE INDEX credit_entries_account ON credit_entries (shop_id, account_id, id);
