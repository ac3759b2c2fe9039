{% extends "noxfile.py" %}

{% block more_sessions %} and `nox -s train`{% endblock %}

{% block sessions %}


@nox.session(python=False, requires=["env"])
def train(session: nox.Session) -> None:
    """Retrain the estimator: rewrite model.skops and evaluation.csv (deterministic)."""
    run_in_env(session, "python", "train.py", *session.posargs)
{%- endblock %}
