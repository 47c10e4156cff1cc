#!/bin/bash
# Ducha's warehouse lives beside Airflow's metadata database, in its own database and
# role; the password comes from .env (DUCHA_DB_PASSWORD), never from this file.
set -euo pipefail
: "${DUCHA_DB_PASSWORD:?set DUCHA_DB_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$DUCHA_DB_PASSWORD" <<'SQL'
CREATE ROLE ducha LOGIN PASSWORD :'password';
CREATE DATABASE ducha OWNER ducha;
SQL
