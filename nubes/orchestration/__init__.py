"""Orchestration (Heat): so far only the template engine, a pure library in ``template/``.

The service's API (Heat's native v1 on :8004 and the CloudFormation Query API on :8000), its
database, workers and resource plugins land later; until then nothing here is registered in
``nubes.services`` and there is no ``SPEC``.
"""
