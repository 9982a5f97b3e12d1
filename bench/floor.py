"""The floors the benchmark compares against: bare Flask, and bare Flask around one Argon2 hash.

    gunicorn bench.floor:app

GET /hello is the least a Flask request can cost; POST /hash is that plus one Argon2id hash
with the parameters in ARGON2_* (the production ones by default), as registration pays.
"""

import os

from argon2 import PasswordHasher, Type
from flask import Flask, request

hasher = PasswordHasher(
    time_cost=int(os.environ.get("ARGON2_TIME_COST", 2)),
    memory_cost=int(os.environ.get("ARGON2_MEMORY_COST", 19456)),
    parallelism=int(os.environ.get("ARGON2_PARALLELISM", 1)),
    type=Type.ID,
)
app = Flask(__name__)


@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.post("/hash")
def hash_password():
    hasher.hash(request.get_json()["password"])
    return {"status": "hashed"}, 202
