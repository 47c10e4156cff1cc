-- Ducha's warehouse lives beside Airflow's metadata database, in its own database and role.
CREATE ROLE ducha LOGIN PASSWORD 'ducha';
CREATE DATABASE ducha OWNER ducha;
