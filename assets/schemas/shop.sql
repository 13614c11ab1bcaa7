-- An online shop (SQLite flavour).
-- Exercises: self-referencing FK (category.parent_id), text primary key (product.sku),
-- junction table keyed by two FKs ("order line"), FK to a UNIQUE column (review.customer_email),
-- nullable FK (orders.coupon_code), CHECK (col IN (...)), BOOLEAN, DATE/DATETIME,
-- a quoted table name with a space, bracket and backtick quoting, a multi-word SQLite type.
PRAGMA foreign_keys = ON;
DROP TABLE IF EXISTS customer;

CREATE TABLE customer (
    customer_id INTEGER PRIMARY KEY,
    email VARCHAR(120) NOT NULL UNIQUE,
    tier TEXT CHECK (tier IN ('bronze', 'silver', 'gold')),
    newsletter BOOLEAN NOT NULL DEFAULT 0,
    signed_up DATE
);

CREATE TABLE category (
    category_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES category (category_id)
);

CREATE TABLE [product] (
    [sku] VARCHAR(12) PRIMARY KEY,
    `title` NVARCHAR(200) NOT NULL,
    category_id INTEGER NOT NULL,
    price NUMERIC(10, 2),
    notes BLOB SUB_TYPE TEXT,
    FOREIGN KEY (category_id) REFERENCES category (category_id)
);

CREATE TABLE coupon (
    coupon_code CHAR(8) PRIMARY KEY,
    percent_off REAL
);

CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (customer_id),
    coupon_code CHAR(8) REFERENCES coupon (coupon_code),
    placed_at DATETIME NOT NULL,
    status TEXT CHECK (status IN ('new', 'paid', 'shipped', 'returned'))
);

CREATE TABLE "order line" (
    order_id INTEGER NOT NULL,
    sku VARCHAR(12) NOT NULL,
    quantity SMALLINT,
    PRIMARY KEY (order_id, sku),
    FOREIGN KEY (order_id) REFERENCES orders (order_id),
    FOREIGN KEY (sku) REFERENCES product (sku)
);

CREATE TABLE review (
    review_id INTEGER PRIMARY KEY,
    customer_email VARCHAR(120) NOT NULL REFERENCES customer (email),
    sku VARCHAR(12) NOT NULL REFERENCES product (sku),
    stars INTEGER CHECK (stars IN (1, 2, 3, 4, 5)),
    written_at TIMESTAMP
);

CREATE INDEX idx_review_sku ON review (sku);
