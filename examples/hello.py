"""The hello-world flow from Prefect's "How Prefect Works", with only its import changed."""

from orchestrate import flow, task


@task(retries=3)
def hello(name: str):
    print(f"Hello, {name}")


@flow(retries=3)
def say_hello():
    for name in ["Marvin", "Arthur", "Ford"]:
        hello(name)


if __name__ == "__main__":
    say_hello()
