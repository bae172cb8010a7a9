from tradewind.dag import DAG

dag = DAG("raises", schedule=None)


def fail():
    raise RuntimeError("boom at import")  # error-line


fail()
