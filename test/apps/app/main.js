// The page: runs the orders and shows what came back.
import { orders } from './orders.js'

const out = document.querySelector('#result')
orders().then(
  (result) => { out.textContent = JSON.stringify(result) },
  (error) => {
    out.textContent = `failed: ${error.name}: ${error.message}`
    console.error(error)
  },
)
