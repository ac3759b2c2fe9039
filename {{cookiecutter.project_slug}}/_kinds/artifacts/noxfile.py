{% extends "noxfile.py" %}

{% block more_sessions %} and `nox -s train`{% endblock %}

{% block sessions %}


@nox.session(python=PYTHON)
def train(session: nox.Session) -> None:
    """Retrain the estimator: rewrite model.skops and evaluation.csv (deterministic)."""
    session.install("-r", REQUIREMENTS)
    session.run("python", "train.py", *session.posargs)
{%- endblock %}
