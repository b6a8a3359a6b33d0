import Storage

/// The bidding service's tables in schema `bidding`.
enum BiddingSchema {
    static let migrations: [Migration] = [
        Migration(
            version: "4001_bidding_registry_read_model",
            sql: """
                -- What bidding knows of the registry, kept from registry.events (never read from the
                -- registry's tables): places, organisations with their eligibility, and the expert pool.
                CREATE TABLE known_place (
                    code            text PRIMARY KEY,
                    level           text NOT NULL,
                    name            text NOT NULL,
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE organisation (
                    id                      uuid PRIMARY KEY,
                    name                    text NOT NULL,
                    kind                    text NOT NULL,
                    legal_person            boolean NOT NULL,
                    registration_authority  text,
                    eligible_bidder         boolean NOT NULL,
                    updated_at              timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE expert (
                    role_id       uuid PRIMARY KEY,
                    resident_id   uuid NOT NULL,
                    name          text NOT NULL,
                    fields        text[] NOT NULL DEFAULT '{}',
                    affiliations  uuid[] NOT NULL DEFAULT '{}',
                    active        boolean NOT NULL,
                    updated_at    timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX expert_fields ON expert USING gin (fields) WHERE active;
                """),
        Migration(
            version: "4002_bidding_projects_and_tenders",
            sql: """
                CREATE TABLE project (
                    id              uuid PRIMARY KEY,
                    title           text NOT NULL,
                    service_kind    text NOT NULL,
                    place_code      text NOT NULL,
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    assessment      jsonb NOT NULL,
                    standards       jsonb NOT NULL,
                    cost_estimate   jsonb NOT NULL,
                    estimate_fen    bigint NOT NULL,
                    ceiling_fen     bigint NOT NULL CHECK (ceiling_fen > 0 AND estimate_fen <= ceiling_fen),
                    created_by      text NOT NULL,
                    created_at      timestamptz NOT NULL
                );

                CREATE TABLE tender (
                    id                            uuid PRIMARY KEY,
                    project_id                    uuid NOT NULL REFERENCES project (id),
                    title                         text NOT NULL,
                    status                        text NOT NULL,
                    -- where a suspended tender returns, and since when it is suspended
                    suspended_from                text,
                    suspended_at                  timestamptz,
                    deadline_at                   timestamptz NOT NULL,
                    published_at                  timestamptz,
                    closed_at                     timestamptz,
                    weights                       jsonb NOT NULL,
                    panel_fields                  text[] NOT NULL,
                    panel_size                    integer NOT NULL,
                    purchaser_organisation_id     uuid,
                    third_party_organisation_id   uuid,
                    -- NULL until bidding closes: then the key that opens this tender's bids, published
                    sealing_key                   text,
                    awarded_bid_id                uuid,
                    awarded_organisation_id       uuid,
                    awarded_fen                   bigint,
                    created_by                    text NOT NULL,
                    created_at                    timestamptz NOT NULL,
                    updated_at                    timestamptz NOT NULL
                );
                CREATE INDEX tender_due ON tender (deadline_at) WHERE status IN ('published', 'bidding-closed');
                CREATE INDEX tender_project ON tender (project_id);

                CREATE TABLE tender_transition (
                    id            bigserial PRIMARY KEY,
                    tender_id     uuid NOT NULL REFERENCES tender (id),
                    action        text NOT NULL,
                    from_status   text,
                    to_status     text NOT NULL,
                    actor         text NOT NULL,
                    reason        text,
                    at            timestamptz NOT NULL
                );
                CREATE INDEX tender_transition_tender ON tender_transition (tender_id, id);

                -- Questions and answers are visible to every bidder; who asked is not shown.
                CREATE TABLE clarification (
                    id                 uuid PRIMARY KEY,
                    tender_id          uuid NOT NULL REFERENCES tender (id),
                    question           text NOT NULL,
                    asked_by           uuid NOT NULL,
                    asked_at           timestamptz NOT NULL,
                    answer             text,
                    answered_by        text,
                    answered_at        timestamptz
                );
                CREATE INDEX clarification_tender ON clarification (tender_id, asked_at);

                CREATE TABLE complaint (
                    id                 uuid PRIMARY KEY,
                    tender_id          uuid NOT NULL REFERENCES tender (id),
                    organisation_id    uuid NOT NULL,
                    grounds            text NOT NULL,
                    filed_at           timestamptz NOT NULL,
                    upheld             boolean,
                    decision_note      text,
                    decided_by         text,
                    decided_at         timestamptz
                );
                -- one undecided complaint at a time: it is what holds the tender suspended
                CREATE UNIQUE INDEX complaint_open ON complaint (tender_id) WHERE upheld IS NULL;
                """),
        Migration(
            version: "4003_bidding_bids_panels_scores",
            sql: """
                -- One bid per organisation per tender; a replacement bumps the version. Until bidding
                -- closes only the ciphertext and its announced hash exist: price and contents are
                -- filled in when the bid is opened.
                CREATE TABLE bid (
                    id                 uuid PRIMARY KEY,
                    tender_id          uuid NOT NULL REFERENCES tender (id),
                    organisation_id    uuid NOT NULL,
                    version            integer NOT NULL,
                    sha256             text NOT NULL,
                    sealed             bytea NOT NULL,
                    submitted_at       timestamptz NOT NULL,
                    status             text NOT NULL CHECK (status IN ('sealed', 'qualified', 'disqualified', 'awarded', 'lost')),
                    status_reason      text,
                    price_fen          bigint,
                    contents           jsonb,
                    UNIQUE (tender_id, organisation_id)
                );

                -- Every hash ever announced, replaced versions included.
                CREATE TABLE bid_submission (
                    bid_id        uuid NOT NULL REFERENCES bid (id),
                    version       integer NOT NULL,
                    sha256        text NOT NULL,
                    submitted_at  timestamptz NOT NULL,
                    PRIMARY KEY (bid_id, version)
                );

                -- One draw per tender, ever: the primary key is what makes a second draw impossible.
                CREATE TABLE panel_draw (
                    tender_id      uuid PRIMARY KEY REFERENCES tender (id),
                    seed           text NOT NULL,
                    seed_material  text NOT NULL,
                    fields         text[] NOT NULL,
                    candidates     uuid[] NOT NULL,
                    excluded       jsonb NOT NULL,
                    panel          uuid[] NOT NULL,
                    drawn_at       timestamptz NOT NULL
                );

                CREATE TABLE score (
                    tender_id     uuid NOT NULL REFERENCES tender (id),
                    bid_id        uuid NOT NULL REFERENCES bid (id),
                    part          text NOT NULL CHECK (part IN ('expert', 'purchaser', 'recipients', 'third-party')),
                    -- the expert's id, or the name of whoever scored for the purchaser, recipients or third party
                    evaluator     text NOT NULL,
                    quality       integer NOT NULL CHECK (quality BETWEEN 0 AND 100),
                    note          text,
                    recorded_by   text NOT NULL,
                    recorded_at   timestamptz NOT NULL,
                    PRIMARY KEY (bid_id, part, evaluator)
                );

                CREATE TABLE score_sheet (
                    tender_id     uuid PRIMARY KEY REFERENCES tender (id),
                    lines         jsonb NOT NULL,
                    evaluated_at  timestamptz NOT NULL
                );
                """),
        Migration(
            version: "4004_bidding_contracts",
            sql: """
                CREATE TABLE contract (
                    id                uuid PRIMARY KEY,
                    tender_id         uuid NOT NULL UNIQUE REFERENCES tender (id),
                    organisation_id   uuid NOT NULL,
                    value_fen         bigint NOT NULL CHECK (value_fen > 0),
                    -- the database itself refuses a total over the award
                    paid_fen          bigint NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= value_fen),
                    signed_on         date NOT NULL,
                    signed_by         text NOT NULL,
                    created_at        timestamptz NOT NULL
                );

                CREATE TABLE milestone (
                    id              uuid PRIMARY KEY,
                    contract_id     uuid NOT NULL REFERENCES contract (id),
                    position        integer NOT NULL,
                    title           text NOT NULL,
                    deliverable     text NOT NULL,
                    due_on          date NOT NULL,
                    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
                    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'returned', 'accepted', 'paid')),
                    delivery_note   text,
                    delivered_at    timestamptz,
                    review_note     text,
                    accepted_at     timestamptz,
                    paid_at         timestamptz,
                    UNIQUE (contract_id, position)
                );

                CREATE TABLE payment (
                    id             uuid PRIMARY KEY,
                    milestone_id   uuid NOT NULL UNIQUE REFERENCES milestone (id),
                    contract_id    uuid NOT NULL REFERENCES contract (id),
                    amount_fen     bigint NOT NULL CHECK (amount_fen > 0),
                    released_by    text NOT NULL,
                    released_at    timestamptz NOT NULL
                );

                -- The organisation's record: the final evaluation of each completed contract.
                CREATE TABLE performance (
                    contract_id       uuid PRIMARY KEY REFERENCES contract (id),
                    tender_id         uuid NOT NULL,
                    organisation_id   uuid NOT NULL,
                    score             integer NOT NULL CHECK (score BETWEEN 0 AND 100),
                    standards         jsonb NOT NULL,
                    summary           text NOT NULL,
                    evaluated_by      text NOT NULL,
                    evaluated_at      timestamptz NOT NULL
                );
                CREATE INDEX performance_organisation ON performance (organisation_id);
                """),
    ]
}
