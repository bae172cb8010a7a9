import time

from tradewind.dag import DAG

dag = DAG("sleeps_forever", schedule=None)
while True:
    time.sleep(1000)  # error-line
