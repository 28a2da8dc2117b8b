-- One row per API object (load balancers and their children, networks, subnets, ports).
-- The object itself is a JSON document in `body`; the indexed columns are the keys the
-- API selects by. See src/store/mod.rs.
CREATE TABLE IF NOT EXISTS objects (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    project_id  TEXT,
    lb_id       TEXT,
    parent_id   TEXT,
    created_at  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_kind_project ON objects (kind, project_id);
CREATE INDEX IF NOT EXISTS objects_lb ON objects (lb_id);
CREATE INDEX IF NOT EXISTS objects_kind_parent ON objects (kind, parent_id);
