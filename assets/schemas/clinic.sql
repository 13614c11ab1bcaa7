-- A clinic (PostgreSQL flavour).
-- Exercises: schema-qualified names, FKs added later by ALTER TABLE ... ADD CONSTRAINT,
-- an FK cycle (department.head_doctor_id <-> doctor.department_id), a table whose primary
-- key is also a foreign key (patient_profile, 1:1), a composite primary key with a non-FK
-- column (slot: doctor_id + starts_at) referenced by a composite FK (appointment),
-- UPPER(col) IN (...) checks, a table without a primary key (audit_log), unknown types
-- (uuid, jsonb, a domain name) and quoted identifiers with odd characters.
CREATE SCHEMA IF NOT EXISTS care;
SET search_path = care;

CREATE TABLE care.department (
    department_id SERIAL,
    name varchar(60) NOT NULL,
    head_doctor_id integer,
    CONSTRAINT pk_department PRIMARY KEY (department_id)
);

CREATE TABLE care.doctor (
    doctor_id SERIAL PRIMARY KEY,
    department_id integer NOT NULL,
    "full name" varchar(80) NOT NULL,
    grade char(2) CHECK (UPPER(grade) IN ('F1', 'F2', 'ST', 'CO')),
    on_call boolean NOT NULL DEFAULT false
);

CREATE TABLE care.patient (
    patient_id bigserial PRIMARY KEY,
    external_ref uuid NOT NULL,
    born date,
    "sex/gender" text CHECK ("sex/gender" IN ('f', 'm', 'x'))
);

CREATE TABLE care.patient_profile (
    patient_id bigint PRIMARY KEY,
    allergies jsonb,
    blood_type "BloodType"
);

CREATE TABLE care.slot (
    doctor_id integer NOT NULL,
    starts_at timestamp NOT NULL,
    room varchar(10),
    PRIMARY KEY (doctor_id, starts_at)
);

CREATE TABLE care.appointment (
    appointment_id bigserial PRIMARY KEY,
    patient_id bigint NOT NULL,
    doctor_id integer NOT NULL,
    starts_at timestamp NOT NULL,
    booked_at timestamp NOT NULL,
    fee numeric(8, 2)
);

CREATE TABLE care.audit_log (
    logged_at timestamp,
    patient_id bigint,
    action varchar(20) CHECK (action IN ('view', 'edit', 'export'))
);

ALTER TABLE ONLY care.department
    ADD CONSTRAINT fk_department_head FOREIGN KEY (head_doctor_id) REFERENCES care.doctor (doctor_id);
ALTER TABLE care.doctor
    ADD CONSTRAINT fk_doctor_department FOREIGN KEY (department_id) REFERENCES care.department (department_id);
ALTER TABLE care.patient_profile
    ADD CONSTRAINT fk_profile_patient FOREIGN KEY (patient_id) REFERENCES care.patient (patient_id);
ALTER TABLE care.slot
    ADD CONSTRAINT fk_slot_doctor FOREIGN KEY (doctor_id) REFERENCES care.doctor (doctor_id);
ALTER TABLE care.appointment
    ADD CONSTRAINT fk_appointment_patient FOREIGN KEY (patient_id) REFERENCES care.patient (patient_id),
    ADD CONSTRAINT fk_appointment_slot FOREIGN KEY (doctor_id, starts_at) REFERENCES care.slot (doctor_id, starts_at);
ALTER TABLE care.audit_log
    ADD CONSTRAINT fk_audit_patient FOREIGN KEY (patient_id) REFERENCES care.patient (patient_id);
CREATE INDEX idx_appointment_patient ON care.appointment (patient_id);
