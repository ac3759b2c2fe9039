{% extends "tests/conftest.py" %}

{# a chain, not a PythonModel: no model class to instantiate #}
{% block model_fixtures %}{% endblock %}
