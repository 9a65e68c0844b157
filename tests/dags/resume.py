"""Clear a run's failed tasks and run it on, as a user's "Clear failed tasks" and the scheduler would.

``dag.test()`` can only start a new run (it deletes a run with the same logical date), so this
drives an existing run with the same minimal loop ``dag.test()`` uses: Airflow's own clear
(``SerializedDAG.clear(only_failed=True)``, what the UI's clear calls), then ``update_state``
to find the runnable task instances and Airflow's in-process task runner to run each.
"""
from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import REPO


def clear_failed_tasks_and_resume(dag_id: str, run_id: str):
    """Clear the failed (and upstream-failed) tasks of a run and run it to its end; its run id and state."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    dag = DagBag(dag_folder=str(REPO / "dags")).dags[dag_id]
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    with create_session() as session:
        cleared = scheduler_dag.clear(run_id=run_id, only_failed=True, session=session)
    assert cleared, "nothing to clear: no task of the run failed"
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        run.dag = scheduler_dag
        run.state = DagRunState.RUNNING  # what the scheduler does with a queued run
        session.commit()
        while run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in [t for t in run.get_task_instances(session=session) if t.state == TaskInstanceState.SCHEDULED]:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        return SimpleNamespace(run_id=run.run_id, state=run.state)
