-- Written for the tests: the output of `sqlite3 bookshop.db .schema` for a small
-- database with AUTOINCREMENT (hence sqlite_sequence), indexes, views and triggers
-- whose BEGIN ... END bodies hold semicolons and CASE ... END. Produced by executing the
-- DDL in SQLite and printing sqlite_master's sql column, as the shell does.
CREATE TABLE author (
    author_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    born SMALLINT,
    active BOOLEAN NOT NULL DEFAULT 1
);
CREATE TABLE sqlite_sequence(name,seq);
CREATE TABLE book (
    book_id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES author (author_id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    price NUMERIC(6, 2) CHECK (price >= 0),
    pages SMALLINT CHECK (pages > 0),
    published DATE
);
CREATE TABLE review (
    review_id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES book (book_id),
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    helpful INTEGER DEFAULT 0 CHECK (helpful >= 0 AND helpful <= 1000),
    body TEXT,
    written_at DATETIME NOT NULL
);
CREATE TABLE audit (
    audit_id INTEGER PRIMARY KEY,
    book_id INTEGER REFERENCES book (book_id),
    action TEXT CHECK (action IN ('insert', 'update', 'delete')),
    at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_book_author ON book (author_id);
CREATE UNIQUE INDEX idx_author_name ON author (name);
CREATE VIEW book_rating AS
    SELECT b.book_id, b.title, AVG(r.stars) AS rating, COUNT(*) AS reviews
    FROM book b JOIN review r ON r.book_id = b.book_id
    GROUP BY b.book_id;
CREATE VIEW prolific AS SELECT author_id, COUNT(*) AS n FROM book GROUP BY author_id HAVING n > 3;
CREATE TRIGGER book_audit_insert AFTER INSERT ON book
BEGIN
    INSERT INTO audit (book_id, action) VALUES (NEW.book_id, 'insert');
END;
CREATE TRIGGER review_clamp BEFORE UPDATE OF stars ON review
FOR EACH ROW WHEN NEW.stars IS NOT NULL
BEGIN
    UPDATE review SET helpful = CASE WHEN NEW.stars > 3 THEN helpful + 1 ELSE helpful END
        WHERE review_id = NEW.review_id;
    SELECT CASE WHEN NEW.stars > 5 THEN RAISE(ABORT, 'stars; at most 5') END;
END;
CREATE TRIGGER audit_guard AFTER DELETE ON audit BEGIN SELECT 1; END;
