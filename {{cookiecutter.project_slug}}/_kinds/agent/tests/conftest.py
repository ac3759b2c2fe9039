{% extends "tests/conftest.py" %}

{% block model_class %}ForecastAgent{% endblock %}
